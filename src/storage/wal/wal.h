// A segmented write-ahead log of opaque records, written in CRC'd batches (frames), zstd-
// compressed unless that does not make them smaller. Byte format: docs/format/wal.md.
//
// Segments are files named by an 8-digit decimal number ("dir/00000001", ...), written in
// order and rolled when the next frame would take a segment past WriterOptions::segment_size.
// A Writer never appends to an existing segment: it always starts one after the highest
// existing number, so a torn tail left by a crash is never written after.
//
// Atomicity and durability: Writer::Write appends its records as one frame with one CRC, so
// after a crash a reader sees all of them or none; it returns only after the frame is synced.
// A Reader stops at the first frame that is torn or corrupt in the log's last segment (status()
// says where); Repair then truncates that segment there so a Writer can continue. A torn tail
// never costs a frame that was fully synced before the crash. A corrupt frame in an earlier
// segment (synced and closed when the log rolled, so the damage is not a torn write) costs only
// the rest of that segment: the Reader logs it, counts it (skipped_corruptions) and goes on
// with the next segment, so the acknowledged data after it is still replayed; status() still
// reports it at the end, and Repair leaves such segments alone.
//
// Preallocation: a syncing Writer writes zeros ahead of its frames in the current segment, so
// that each group commit's fdatasync flushes only data (no file size change through the file
// system's journal); the zeros left when a segment is rolled or closed are cut off. A crash can
// leave such a zero tail in any segment; readers take an all-zero rest of a segment as its
// clean end, never as damage (zeros followed by data are still corruption).
//
// Thread-safety: Writer is thread-safe and group-commits concurrent Writes into one fsync.
// Reader is used by one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/env.h"

namespace xscaler::storage::wal {

inline constexpr uint64_t kDefaultSegmentSize = 128ull << 20;

inline constexpr uint64_t kDefaultPreallocateBytes = 4ull << 20;

struct WriterOptions {
  uint64_t segment_size = kDefaultSegmentSize;
  // Whether Write waits for fsync. Only tests and benchmarks that accept loss turn this off.
  bool sync = true;
  // With sync: zeros written (and synced) ahead of the write position in the current segment,
  // this many bytes at a time (0: none). A sync of frames written over them then flushes only
  // data, not a new file size (no file-system journal commit): several times cheaper on ext4.
  // Cut off when the segment is rolled or closed; a crash leaves at most this much zero tail,
  // which readers take as the clean end of the segment (docs/format/wal.md).
  uint64_t preallocate_bytes = kDefaultPreallocateBytes;
  // zstd level of compressed frames (docs/format/wal.md, frame type 2); 0 writes every frame
  // uncompressed. Frames that do not get smaller are written uncompressed anyway.
  int zstd_level = 1;
};

// "dir/00000042" for segment 42.
std::string SegmentPath(const std::string& dir, uint64_t segment);
// The number of a segment file named by 8 to 19 decimal digits; false for any other name.
bool ParseSegmentName(std::string_view name, uint64_t* n);
// Segment numbers present in `dir`, ascending (names that are not 8+ decimal digits are
// ignored). An absent dir has none.
absl::StatusOr<std::vector<uint64_t>> ListSegments(base::Env* env, const std::string& dir);
// Deletes segments numbered below `segment` (after a checkpoint made them redundant).
absl::Status RemoveSegmentsBefore(base::Env* env, const std::string& dir, uint64_t segment);

class Writer {
 public:
  // Creates `dir` if needed and a new segment numbered after the existing ones and after the
  // newest checkpoint (checkpoint.h), so replay never skips what it writes.
  // The log should have been replayed and, if its tail was corrupt, Repair()ed first;
  // otherwise that tail is read later as a damaged non-last segment (skipped and logged).
  static absl::StatusOr<std::unique_ptr<Writer>> Open(base::Env* env, std::string dir,
                                                      WriterOptions opts = {});
  ~Writer();  // closes (without waiting for anything beyond in-flight Writes)

  // Appends `records` as one atomic frame and returns once it is durable. Concurrent callers
  // share one fsync (leader/follower group commit). An empty span is a no-op. On error the
  // records are not acknowledged (they may or may not be replayed after a crash); the writer
  // tries to cut the damaged tail off and later Writes may succeed again (e.g. once disk space
  // returns).
  absl::Status Write(std::span<const std::string> records);
  // Same, for callers that hold views (avoids copying into std::strings).
  absl::Status Write(std::span<const std::string_view> records);

  // Closes the current segment and starts the next one; returns its number. Records written
  // before the call are all in segments below the returned number (for checkpointing).
  absl::StatusOr<uint64_t> NextSegment();

  // Syncs and closes; further Writes fail. Idempotent.
  absl::Status Close();

  // The segment currently written to.
  uint64_t Segment() const;
  const std::string& dir() const { return dir_; }

 private:
  struct Waiter;
  Writer(base::Env* env, std::string dir, WriterOptions opts);
  // Queues `w` and runs it, as the leader or by letting a leader run it.
  absl::Status Submit(Waiter* w);
  // Submits a frame that BuildFrame made, or returns its error.
  absl::Status WriteFrame(absl::StatusOr<std::string> frame);
  // Leader work (DoX too), run without mu_ by the single leader, the front of queue_.
  absl::Status WriteGroup(std::span<Waiter* const> group);
  absl::Status DoRoll();
  absl::Status DoClose();
  absl::Status OpenSegment(uint64_t segment);
  absl::Status RecoverTail();
  // Zero-fills the current segment ahead of `end` (see WriterOptions::preallocate_bytes).
  void PreallocateFor(uint64_t end);
  // After the current segment's file was closed: cuts its unused preallocated zeros.
  void TrimPreallocated();
  void SetSegment(uint64_t segment);

  base::Env* const env_;
  const std::string dir_;
  const WriterOptions opts_;

  mutable absl::Mutex mu_;
  std::deque<Waiter*> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t segment_ ABSL_GUARDED_BY(mu_) = 0;

  // Owned by the current leader: only the front of queue_ touches these.
  std::unique_ptr<base::WritableFile> file_;  // null after a failed roll
  uint64_t file_segment_ = 0;  // number of the last segment opened
  uint64_t cur_size_ = 0;      // bytes appended to the current segment
  uint64_t good_size_ = 0;     // bytes of the current segment known to be synced and whole
  bool damaged_ = false;       // bytes past good_size_ may be on disk and must be cut
  uint64_t zeroed_end_ = 0;    // end of the zeros preallocated in the current segment
  bool preallocated_ = false;  // zeros may lie past cur_size_ (a Preallocate was attempted)
  bool prealloc_failed_ = false;  // the current segment's file cannot preallocate
};

class Reader {
 public:
  // Replays every segment in `dir` in order, only those numbered in
  // [first_segment, last_segment].
  static absl::StatusOr<std::unique_ptr<Reader>> Open(base::Env* env, std::string dir,
                                                      uint64_t first_segment = 0,
                                                      uint64_t last_segment = UINT64_MAX);

  // The next record; false at the end of the log, at a corrupt or torn frame in the log's last
  // segment, or on an I/O error. A corrupt frame in any other segment is skipped together with
  // the rest of its segment (see skipped()), and reading goes on with the next segment.
  bool Next(std::string* record);
  // Same without a copy: *record points into the reader and is valid until the next call.
  bool Next(std::string_view* record);
  // OK when everything read was clean. Otherwise, in this order: DataLoss("wal segment
  // 00000003 offset 1234: crc mismatch") when reading stopped at a corrupt or torn frame of the
  // log's last segment (the segment numbered highest in the directory, whatever range this
  // reader reads); the I/O error that stopped reading; the first corruption skipped in an
  // earlier segment (reading went on past it: see skipped()). Callers that must not lose
  // anything silently (checkpoints) fail on any of them; replay goes on with what was read.
  absl::Status status() const {
    if (!status_.ok() || skipped_.empty()) return status_;
    return skipped_.front();
  }
  // When reading stopped at a corrupt frame of the log's last segment: truncates that segment
  // at the end of its last good frame, so the log reads cleanly and a Writer can append after
  // it. Never touches any other segment (skipped corruptions stay as they are). Returns OK when
  // there is nothing to truncate, the I/O error if reading stopped on one.
  absl::Status Repair();

  // Corruptions in segments before the log's last one, each skipped with the rest of its
  // segment (logged as errors when met). skipped() holds their DataLoss statuses ("wal segment
  // 00000002 offset 4096: crc mismatch"), the first kMaxSkippedKept of them; not empty when
  // skipped_corruptions() > 0.
  uint64_t skipped_corruptions() const { return skipped_corruptions_; }
  const std::vector<absl::Status>& skipped() const { return skipped_; }
  static constexpr size_t kMaxSkippedKept = 64;

  // Progress: the segment being read and the byte offset of the next frame in it.
  uint64_t segment() const;
  uint64_t offset() const { return frame_end_; }
  const std::vector<uint64_t>& segments() const { return segments_; }

 private:
  Reader(base::Env* env, std::string dir, std::vector<uint64_t> segments,
         uint64_t log_last_segment);
  // Reads and verifies the next frame, moving on to later segments at a segment's end and
  // after a skipped corruption.
  bool ReadFrame();
  bool ReadFrameInSegments();
  // Records a corrupt frame at frame_end_: stops the reader in the log's last segment, else
  // counts it and sets skip_segment_. Returns false.
  bool ReadExact(size_t n, std::string* dst);
  bool Corrupt(std::string_view what);
  // Whether the open segment holds only zero bytes from frame_end_ + consumed (the bytes
  // before that were read and are zero) to its end; reads them. kZero sets zero_tail_;
  // kStopped: a read error or corruption stopped the reader.
  enum class Tail { kZero, kData, kStopped };
  Tail CheckRestIsZero(uint64_t consumed);
  // Checks a verified frame's payload (type 1, or type 2 decompressed into raw_), queues its
  // records and moves frame_end_ past the frame's `stored_len` payload bytes.
  bool AcceptPayload(std::string_view payload, uint64_t stored_len);

  base::Env* const env_;
  const std::string dir_;
  const std::vector<uint64_t> segments_;
  const uint64_t log_last_segment_;  // highest segment in dir at Open (0: none)
  size_t seg_index_ = 0;  // index into segments_ of the segment being read
  std::unique_ptr<base::SequentialFile> file_;  // null between segments
  uint64_t file_size_ = 0;
  uint64_t frame_end_ = 0;  // offset just past the last good frame in the open segment
  std::string header_;
  std::string frame_;          // payload of the current frame
  std::string raw_;            // decompressed payload of the current frame (type 2)
  std::string_view pending_;   // records of frame_ not yet returned
  uint64_t pending_count_ = 0;
  bool done_ = false;
  bool corrupt_ = false;       // stopped at a corrupt frame of the last segment
  bool zero_tail_ = false;     // the open segment's rest (from frame_end_) is preallocated zeros
  bool skip_segment_ = false;  // Corrupt() gave up on a non-last segment
  uint64_t skipped_corruptions_ = 0;
  std::vector<absl::Status> skipped_;
  absl::Status status_;  // what stopped reading (see status())
};

}  // namespace xscaler::storage::wal
