//! Helpers shared by the golden-byte tests in `tests/`.
