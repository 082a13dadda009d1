-- Pull mode: the service reads the App's delivery log instead of receiving webhooks. The
-- newest delivery of the log handled (deliveries are numbered upwards), so a restart goes on
-- where it stopped, and the deliveries GitHub listed but could not return yet, tried again
-- with backoff until they can be read.
CREATE TABLE delivery_log_cursor (
    name TEXT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE delivery_log_misses (
    delivery_id BIGINT PRIMARY KEY,
    guid TEXT NOT NULL,
    event TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    last_error TEXT NOT NULL
);
