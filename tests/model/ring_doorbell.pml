/*
 * tests/model/ring_doorbell.pml - the doorbell protocol of the submission
 * ring (sched/npu_ring.c) and the dispatcher's sleep (sched/npu_dispatch.c),
 * run on x86-TSO store buffers, for the spin model checker.
 *
 * A producer claims a slot (a locked compare-and-swap on tail), publishes it
 * (a plain store), then [fence] loads armed; if it is set, it exchanges it to
 * 0 and, if it won it, writes the doorbell. The consumer takes published slots
 * in order; with none at the head it arms (stores armed = 1, [fence], re-checks
 * the head slot) and sleeps until the doorbell or another wake-up source
 * fires. With io_uring the doorbell poll is one-shot and stays pending across
 * a wake-up from another source (a completion, a deadline): the consumer then
 * sleeps again without re-arming, as npu_dispatcher_main() does.
 *
 * Memory model: each thread's plain stores wait in its FIFO store buffer
 * and reach memory whenever its drain process runs; a fence, a locked
 * instruction and a system call first wait until the buffer is empty. No
 * thread loads a location it has stores buffered for, so loads read memory.
 *
 * The property is the absence of invalid end states: when every producer has
 * finished, the consumer must have taken every item and stopped, not be
 * asleep with an item in the ring. tests/model/check_ring.sh checks it:
 * with both fences there must be no error; without either one (the code
 * before the fences had only the consumer's) pan must find one.
 */
#ifndef FENCES
#define FENCES 1
#endif
#ifndef PRODUCER_FENCE
#define PRODUCER_FENCE FENCES	/* the fence in npu_ring_notify() */
#endif
#ifndef CONSUMER_FENCE
#define CONSUMER_FENCE FENCES	/* the fence in npu_ring_arm() */
#endif
#ifndef PRODUCERS
#define PRODUCERS 2
#endif
#ifndef ITEMS
#define ITEMS 2			/* per producer */
#endif
#ifndef SPURIOUS
#define SPURIOUS 1		/* wake-ups from other sources the consumer may get */
#endif
#define TOTAL (PRODUCERS * ITEMS)
#define SB_DEPTH 2
#define ARMED 255		/* address of armed; slot i's sequence is address i */
#define CONSUMER PRODUCERS	/* the consumer's store buffer */

byte seq[TOTAL];		/* 1: the slot is published */
byte tail;			/* the next slot to claim */
byte armed;			/* 1: the consumer is (about to be) asleep */
byte bell;			/* the doorbell eventfd: nonzero is readable */
bool uring;			/* the dispatcher sleeps in io_uring, else in ppoll */
chan sb[PRODUCERS + 1] = [SB_DEPTH] of { byte, byte };	/* address, value */

/* Store buffer drain of thread @me: one store reaches memory at a time. */
proctype drain(byte me)
{
	byte a, v;

end:	do
	:: d_step {
		sb[me]?a,v;
		if
		:: a == ARMED -> armed = v
		:: else -> seq[a] = v
		fi;
		a = 0;
		v = 0
	   }
	od
}

proctype producer(byte me)
{
	byte i, pos, won;

	for (i : 1 .. ITEMS) {
		/* npu_ring_enqueue(): the claim is a locked cmpxchg on tail. */
		atomic { empty(sb[me]) -> pos = tail; tail++ };
		/* The publish: a release store, a plain store on x86. */
		sb[me]!pos,1;
		/* npu_ring_notify() */
#if PRODUCER_FENCE
		empty(sb[me]);
#endif
		if
		:: armed == 1 ->
			atomic { empty(sb[me]) -> won = armed; armed = 0 };
			if
			:: won == 1 -> atomic { empty(sb[me]) -> bell = 1 }
			:: else -> skip
			fi
		:: else -> skip
		fi;
		pos = 0;
		won = 0
	}
}

/* npu_dispatcher_main() with intake of one slot per step. */
proctype consumer()
{
	byte head, spurious = SPURIOUS;
	bool bell_pending;

	do
	:: head == TOTAL -> break
	:: else ->
		if
		:: seq[head] == 1 -> head++
		:: else ->
			if
			:: uring && bell_pending -> skip
			:: else ->
				/* npu_ring_arm() */
				sb[CONSUMER]!ARMED,1;
#if CONSUMER_FENCE
				empty(sb[CONSUMER]);
#endif
				if
				:: seq[head] == 1 ->
					sb[CONSUMER]!ARMED,0;
					goto again
				:: else -> bell_pending = uring
				fi
			fi;
			/* wait_events(): a system call, then asleep. */
			empty(sb[CONSUMER]);
			if
			:: bell > 0 -> bell = 0; bell_pending = false
			:: spurious > 0 -> spurious--
			fi;
again:			skip
		fi
	od
}

init
{
	byte i;

	if
	:: uring = true
	:: uring = false
	fi;
	atomic {
		for (i : 0 .. PRODUCERS) {
			run drain(i)
		}
		for (i : 0 .. PRODUCERS - 1) {
			run producer(i)
		}
		run consumer()
	}
}
