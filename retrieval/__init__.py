"""khabar's retrieval pipeline, one floor per folder: text -> corpus -> index -> (llm) -> search -> answer, wired
together by `pipeline.Khabar` from `settings.Settings`; `evaluation/` measures it. See README, How it works."""
