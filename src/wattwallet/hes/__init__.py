"""The head-end system (HES): the adapter interface, the in-process simulator, command tracking."""
