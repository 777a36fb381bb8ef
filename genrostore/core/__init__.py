"""The core: paths, profile, mounts, nodes, errors and the transfer engine, shared by every command."""
