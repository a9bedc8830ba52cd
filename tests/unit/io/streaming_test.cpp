// placeholder: filled in by the io tests change
