"""Who is calling: station API keys, people's bearer tokens, and what each may see."""
