fn main() {
    println!("stockade");
}
