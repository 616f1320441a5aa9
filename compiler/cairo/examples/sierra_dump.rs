use cairo_lang_compiler::db::RootDatabase;
use cairo_lang_compiler::project::setup_project;
use cairo_lang_filesystem::cfg::{Cfg, CfgSet};
use cairo_lang_filesystem::db::init_dev_corelib;
use cairo_lang_filesystem::ids::CrateInput;
fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let mut db = RootDatabase::builder()
        .skip_auto_withdraw_gas()
        .with_cfg(CfgSet::from_iter([Cfg::kv("gas", "disabled")]))
        .with_default_plugin_suite(cairo_lang_executable_plugin::executable_plugin_suite())
        .build()
        .unwrap();
    init_dev_corelib(&mut db, cairn_cairo::corelib_dir().join("src"));
    let crates = setup_project(&mut db, &dir).unwrap();
    let ids = CrateInput::into_crate_ids(&db, crates);
    let exes = cairo_lang_executable::compile::find_executable_functions(&db, ids, None);
    let p = cairo_lang_compiler::get_sierra_program_for_functions(&db, exes).unwrap();
    let p2 =
        cairo_lang_sierra_generator::replace_ids::replace_sierra_ids_in_program(&db, &p.program);
    println!("{}", p2);
}
