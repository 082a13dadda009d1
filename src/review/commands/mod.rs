//! Commands other than `review`, one handler file each.

pub mod learnings;
