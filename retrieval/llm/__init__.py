"""The optional language model: its OpenAI-compatible client, prompt files as sections, and the search-side
rewrite of an English question into Arabic. Answers written with it live in retrieval/answer/."""
