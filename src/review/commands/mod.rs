//! Commands other than `review`, one handler file each.

pub mod ask;
pub mod learnings;
pub mod reply;
