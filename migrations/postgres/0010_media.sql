-- microbot schema 0010 (PostgreSQL). Keep in step with ../sqlite/.
-- Attachments. `media` holds each file's bytes once, named by the lower-case
-- hex SHA-256 of its bytes, whatever number of templates send it; the bytes
-- are the last column so reading a file's size and MIME type never reads
-- its bytes. A file no template refers to any more is deleted in the same
-- transaction as the edit or delete that dropped its last reference.
CREATE TABLE media (
    sha256     TEXT    PRIMARY KEY,
    size       BIGINT  NOT NULL,
    mime       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    bytes      BYTEA   NOT NULL
);

-- A template's attachments in order (position 0 first); more than one is
-- an album. kind: photo | video | document. file_name: as the operator
-- gave it, without directories.
CREATE TABLE template_media (
    template_id BIGINT  NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    position    BIGINT  NOT NULL,
    kind        TEXT    NOT NULL,
    file_name   TEXT    NOT NULL,
    sha256      TEXT    NOT NULL REFERENCES media(sha256),
    PRIMARY KEY (template_id, position)
);
CREATE INDEX template_media_sha256 ON template_media (sha256);

-- An album's other items (comma-separated message ids; `message_id` is the
-- first's), so `--replace-previous` deletes the whole previous post.
ALTER TABLE deliveries ADD COLUMN album_ids TEXT;
