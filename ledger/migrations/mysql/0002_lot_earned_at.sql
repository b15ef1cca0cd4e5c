-- When each lot's points were earned (business time of the credit or post
-- that made it), so an order can spend only points earned before it was
-- placed (SPEC 3.2).
ALTER TABLE lots ADD COLUMN earned_at BIGINT NOT NULL DEFAULT 0;
UPDATE lots l JOIN movements m ON m.id = l.id SET l.earned_at = m.business_at;
