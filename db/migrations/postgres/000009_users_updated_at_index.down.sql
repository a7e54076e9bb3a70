-- Nothing: the index stays for every version from 000003 on (000003 built it
-- on databases migrated before this file existed); 000003's down drops it.
SELECT 1;
