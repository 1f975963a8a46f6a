"""What DEN0028 (SMCCC) and DEN0077 (FF-A) fix: function IDs, error codes, conventions."""
