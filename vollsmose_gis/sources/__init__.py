"""Where districts come from: the embedded Vollsmose model and OpenStreetMap files."""
