//! The generic store test suite (being written).
