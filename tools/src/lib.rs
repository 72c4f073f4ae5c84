//! medserve tools.
