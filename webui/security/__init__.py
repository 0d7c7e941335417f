"""Who is asking and what they may do: key format, permissions, the request guard."""
