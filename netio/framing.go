package netio

import "github.com/shardmq/shardmq/mqtt"

// maxIdleCarry is the largest carry buffer kept once it is empty; bigger
// ones are released so an idle connection holds no read memory.
const maxIdleCarry = 512

// consume frames buf (bytes just read) after any partial frame carried from
// earlier reads and hands each complete frame to the Handler. Frames inside
// buf are handed over in place; only a partial tail is copied, into c.carry.
// It returns the bytes still unprocessed when the connection migrates (the
// frame that asked for the migration first), else nil; when the Handler
// holds the connection, those bytes go to the held input instead.
func (c *Conn) consume(buf []byte) (rest []byte, err error) {
	max := c.loop.srv.cfg.MaxPacketSize
	// Finish the carried partial frame by appending only the bytes it needs.
	for len(c.carry) > 0 {
		h, n, err := mqtt.Frame(c.carry, max)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			if len(buf) == 0 {
				return nil, nil
			}
			need := 1 // the remaining length is still incomplete: one byte at a time
			if h.HeaderLen > 0 {
				need = h.HeaderLen + h.RemainingLength - len(c.carry)
			}
			need = min(need, len(buf))
			c.carry = append(c.carry, buf[:need]...)
			buf = buf[need:]
			continue
		}
		frame := c.carry[:n]
		if err := c.loop.srv.h.OnFrame(c, h, frame, frame[h.HeaderLen:]); err != nil {
			return nil, err
		}
		if c.migrateTarget() != nil {
			rest = make([]byte, 0, len(frame)+len(buf))
			return append(append(rest, frame...), buf...), nil
		}
		if c.holding {
			c.rareFields().held = append(append(make([]byte, 0, len(frame)+len(buf)), frame...), buf...)
			c.dropCarry()
			return nil, nil
		}
		c.dropCarry()
		if c.closing {
			return nil, nil
		}
	}
	for len(buf) > 0 {
		h, n, err := mqtt.Frame(buf, max)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			c.carry = append(c.carry[:0], buf...)
			return nil, nil
		}
		frame := buf[:n]
		if err := c.loop.srv.h.OnFrame(c, h, frame, frame[h.HeaderLen:]); err != nil {
			return nil, err
		}
		if c.migrateTarget() != nil {
			return append([]byte(nil), buf...), nil
		}
		if c.holding {
			c.rareFields().held = append([]byte(nil), buf...)
			return nil, nil
		}
		if c.closing {
			return nil, nil
		}
		buf = buf[n:]
	}
	return nil, nil
}

func (c *Conn) dropCarry() {
	if cap(c.carry) > maxIdleCarry {
		c.carry = nil
	} else {
		c.carry = c.carry[:0]
	}
}
