"""From ranked sentences to an answer: extractive quotes, or an LLM reply verified claim by claim."""
