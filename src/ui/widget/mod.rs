//! Small reusable pieces of the window.

pub mod meter;
pub mod page;
pub mod quality;
