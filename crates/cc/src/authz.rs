//! Who may do what (OWNED BY THE MACHINE SLICE): an agent only its own objects; a supervisor
//! also its teams' agents (READY and LOGOUT on them) and its teams; nobody else anything.
