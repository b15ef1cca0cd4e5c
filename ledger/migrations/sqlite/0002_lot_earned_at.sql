-- When each lot's points were earned (business time of the credit or post
-- that made it), so an order can spend only points earned before it was
-- placed (SPEC 3.2).
ALTER TABLE lots ADD COLUMN earned_at INTEGER NOT NULL DEFAULT 0;
UPDATE lots SET earned_at = (SELECT m.business_at FROM movements m WHERE m.id = lots.id);
