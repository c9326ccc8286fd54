-- Remove qty of one SKU from a cart hash, or the whole SKU; refresh the cart's TTL.
-- KEYS[1]  the cart hash, cart:{cart_id}
-- ARGV[1]  the SKU (a hash field)
-- ARGV[2]  how many to remove; the empty string removes the SKU whatever its quantity
-- ARGV[3]  the TTL in milliseconds
-- Returns the SKU's remaining quantity: 0 once it is gone.
-- One script so that read, decide and write are atomic: a concurrent add cannot slip in
-- between our HGET and HSET/HDEL and be lost.
local key, sku, qty, ttl = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local left = 0
if qty ~= '' then
  left = tonumber(redis.call('HGET', key, sku) or '0') - tonumber(qty)
end
if left > 0 then
  redis.call('HSET', key, sku, left)
else
  left = 0
  redis.call('HDEL', key, sku)
end
redis.call('PEXPIRE', key, ttl)
return left
