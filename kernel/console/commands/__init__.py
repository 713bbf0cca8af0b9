"""One module per ``kernel`` sub-command, each registering its own arguments."""
