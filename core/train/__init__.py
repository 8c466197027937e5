"""One fine-tune: the config, the training loop and the parts it calls, and the events it reports."""
