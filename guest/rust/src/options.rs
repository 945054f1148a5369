//! Option bits and name rules shared by both ABIs.

use crate::Error;

/// Bits of the `open-flags` WIT flags, as the `wasi_memfd` core module's
/// `flags` argument takes them.
pub mod flags {
    /// `writable`: the guest may overwrite bytes in place. The size never
    /// changes: writes past the end are refused.
    pub const WRITABLE: u32 = 1 << 0;
    /// Every bit this version of the interface defines; the host refuses any
    /// other bit with `invalid-argument`.
    pub const ALL: u32 = WRITABLE;
}

/// The longest name, in bytes, that `from-bytes` accepts (the Linux memfd
/// name limit).
pub const MAX_NAME_LEN: usize = 249;

/// Checks `name` the way the host does before making a memory file: no NUL
/// byte ([`Error::InvalidArgument`]) and at most [`MAX_NAME_LEN`] bytes
/// ([`Error::NameTooLong`]). The empty name is valid.
///
/// The functions of this crate leave this check to the host; call it to
/// reject a bad name before copying the data.
pub fn validate_name(name: &str) -> Result<(), Error> {
    if name.as_bytes().contains(&0) {
        Err(Error::InvalidArgument)
    } else if name.len() > MAX_NAME_LEN {
        Err(Error::NameTooLong)
    } else {
        Ok(())
    }
}

/// Checks that `bits` holds only bits defined in [`flags`]
/// ([`Error::InvalidArgument`] otherwise).
pub fn validate_flags(bits: u32) -> Result<(), Error> {
    if bits & !flags::ALL == 0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_ordinary_names_are_valid() {
        assert_eq!(validate_name(""), Ok(()));
        assert_eq!(validate_name("config.json"), Ok(()));
        assert_eq!(validate_name("with space/and:colon"), Ok(()));
    }

    #[test]
    fn nul_anywhere_is_invalid() {
        assert_eq!(validate_name("\0"), Err(Error::InvalidArgument));
        assert_eq!(validate_name("a\0b"), Err(Error::InvalidArgument));
        assert_eq!(validate_name("ab\0"), Err(Error::InvalidArgument));
    }

    #[test]
    fn length_limit_is_249_bytes() {
        assert_eq!(validate_name(&"x".repeat(249)), Ok(()));
        assert_eq!(validate_name(&"x".repeat(250)), Err(Error::NameTooLong));
        // The limit counts bytes, not chars: 125 two-byte chars = 250 bytes.
        assert_eq!(validate_name(&"é".repeat(124)), Ok(()));
        assert_eq!(validate_name(&"é".repeat(125)), Err(Error::NameTooLong));
    }

    #[test]
    fn nul_wins_over_length() {
        let name = format!("{}\0", "x".repeat(300));
        assert_eq!(validate_name(&name), Err(Error::InvalidArgument));
    }

    #[test]
    fn flag_bits() {
        assert_eq!(flags::WRITABLE, 1);
        assert_eq!(validate_flags(0), Ok(()));
        assert_eq!(validate_flags(flags::WRITABLE), Ok(()));
        assert_eq!(validate_flags(2), Err(Error::InvalidArgument));
        assert_eq!(validate_flags(u32::MAX), Err(Error::InvalidArgument));
    }
}
