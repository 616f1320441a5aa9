/// Returns its input with the sum of its elements appended.
#[executable]
fn main(input: Array<felt252>) -> Array<felt252> {
    let mut sum = 0;
    for x in input.span() {
        sum += *x;
    }
    let mut out = input;
    out.append(sum);
    out
}
