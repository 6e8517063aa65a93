"""Reading text: normalisation, sentences, calendar words, language, dates, markup, planted text."""
