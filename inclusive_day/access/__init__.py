"""The access rule, one floor above the models it judges: which rows a user may see or change."""
