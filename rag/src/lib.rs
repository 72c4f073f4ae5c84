//! medserve rag.
