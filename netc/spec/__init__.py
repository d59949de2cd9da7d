"""The spec language: parse (YAML with locations), expand (blocks, repeat, names), train section."""
