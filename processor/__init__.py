"""processor: turns harvested catalog rows into vectors in Milvus (state=indexed)."""
