//! The Cairo runtime library (`cairo_runtime/` at the repository root), embedded so that every
//! generated package carries the exact library it was generated against.

/// Relative path inside the runtime package, and contents.
pub const FILES: &[(&str, &str)] = &[
    (
        "Scarb.toml",
        include_str!("../../../cairo_runtime/Scarb.toml"),
    ),
    (
        "src/lib.cairo",
        include_str!("../../../cairo_runtime/src/lib.cairo"),
    ),
    (
        "src/activation.cairo",
        include_str!("../../../cairo_runtime/src/activation.cairo"),
    ),
    (
        "src/fixed.cairo",
        include_str!("../../../cairo_runtime/src/fixed.cairo"),
    ),
    (
        "src/packed.cairo",
        include_str!("../../../cairo_runtime/src/packed.cairo"),
    ),
    (
        "src/tensor.cairo",
        include_str!("../../../cairo_runtime/src/tensor.cairo"),
    ),
];
