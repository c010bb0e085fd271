//! The built-in contact-center simulator, the default CTI side (OWNED BY THE SIMULATOR SLICE —
//! public types agreed, bodies to write).
