//! Placeholder: the generated client and SDK arrive with the SDK issue.
