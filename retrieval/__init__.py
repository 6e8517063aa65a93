"""khabar's retrieval pipeline: text -> corpus -> index -> search -> answer."""
