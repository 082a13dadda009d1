//! The texts the app posts, built from hostile values and rendered.
