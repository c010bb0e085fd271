//! The Finesse web services on the API listener (OWNED BY THE API SLICE).
