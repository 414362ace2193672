pub fn import(_c: &str) -> Result<String, super::OciError> { todo!() }
