#pragma once
/// The I/O floor of a catch-up: what no projector of the same store into the same models can beat on this
/// server. It is the time to stream the source's rows out to the client and the time to put the final read
/// models in, each by binary COPY over libpq with nothing decoded, projected or compared in between: the rows
/// out read and discarded; the models' final rows (taken from a reference built beforehand, not timed) copied
/// into an empty table shaped like the reference, then the reference's indexes built on it, one sort each,
/// and committed. The two are measured one after the other, without overlap.
#include <string>
#include <vector>

namespace projectord::bench {

struct IoFloor {
  double rows_out_seconds = 0;
  double models_in_seconds = 0;
  long long rows_out = 0;   ///< source rows streamed out
  long long rows_in = 0;    ///< model rows copied in, over every model
  double seconds() const { return rows_out_seconds + models_in_seconds; }
};

/// A final model to copy in: `reference` (unqualified) holds its rows and indexes; `copy` is created like it
/// (and left behind, for the caller to drop or keep).
struct FloorModel {
  std::string reference;
  std::string copy;
};

/// Measures the floor on the database `url`: `source_select` is the SELECT whose rows a catch-up reads.
IoFloor measure_io_floor(const std::string& url, const std::string& source_select,
                         const std::vector<FloorModel>& models);

}  // namespace projectord::bench
