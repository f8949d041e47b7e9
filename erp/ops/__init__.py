"""Operations: backups, restores and copying the data to another database."""
