"""Sub-commands of `wattwallet`, one module per group; `wattwallet.cli` mounts them."""
