"""target-eaccounting: a Singer target writing into the Visma eAccounting API v2."""
