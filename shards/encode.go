package shards

// maxScratch is the largest encode buffer a shard keeps between batches.
const maxScratch = 1 << 20

// encoded remembers where in sh.enc a QoS 0 PUBLISH of msg was encoded
// this batch, so that every subscriber of the same variant shares the
// bytes (DESIGN: encode once per variant).
type encoded struct {
	variant
	start, end int
	idOff      int // offset of the packet id in the frame; QoS 1/2 only
}

// variant is what makes two encodings of a message differ; the packet id
// of QoS 1/2 is patched per subscriber.
type variant struct {
	msg             *message
	gen             uint32 // msg.gen: the pointer may be reused in the batch
	v5, retain, dup bool
	qos             byte
}

// maxEncoded bounds the per-batch cache of shared encodings.
const maxEncoded = 8

// lookupEncoded returns an earlier encoding of the variant in this batch.
func (sh *shard) lookupEncoded(v variant) (encoded, bool) {
	for _, e := range sh.encoded {
		if e.variant == v {
			return e, true
		}
	}
	return encoded{}, false
}

// rememberEncoded records sh.enc[start:] as the encoding of a variant.
func (sh *shard) rememberEncoded(v variant, start, idOff int) {
	e := encoded{variant: v, start: start, end: len(sh.enc), idOff: idOff}
	if len(sh.encoded) < maxEncoded {
		sh.encoded = append(sh.encoded, e)
		return
	}
	copy(sh.encoded, sh.encoded[1:])
	sh.encoded[maxEncoded-1] = e
}

// resetScratch reclaims the encode buffer once the batch's writes are out.
func (sh *shard) resetScratch() {
	clear(sh.encoded)
	sh.encoded = sh.encoded[:0]
	if cap(sh.enc) > maxScratch {
		sh.enc = nil
	} else {
		sh.enc = sh.enc[:0]
	}
}
