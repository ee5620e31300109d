/*
 * tests/model/ring_space.pml - the full-ring handshake of the submission
 * ring (sched/npu_ring.c): a producer that finds the ring full announces
 * itself in space_waiters and sleeps on the space_gen futex; the consumer,
 * after freeing slots, loads space_waiters and, once the ring is at most half
 * full, bumps space_gen and wakes the sleepers. Same machine as
 * ring_doorbell.pml (x86-TSO store buffers, one drain process per thread;
 * fences, locked instructions and system calls wait for an empty buffer);
 * the doorbell itself is modelled with both its fences.
 *
 * Slots carry Vyukov sequence numbers: slot pos % SIZE holds pos when free
 * for claim pos, pos + 1 when published, pos + SIZE once taken.
 *
 * The property is the absence of invalid end states: no producer asleep on
 * the futex (and no consumer asleep) when everything else has finished.
 * tests/model/check_ring.sh: with both fences there must be no error; without
 * the consumer's (in npu_ring_dequeue_burst()) pan must find one. On TSO the
 * producer's fence adds nothing to its locked increment of space_waiters;
 * it is there for the C11 memory model.
 */
#ifndef FENCES
#define FENCES 1
#endif
#ifndef CONSUMER_FENCE
#define CONSUMER_FENCE FENCES	/* the fence in npu_ring_dequeue_burst() */
#endif
#ifndef PRODUCER_FENCE
#define PRODUCER_FENCE FENCES	/* the fence after announcing in enqueue() */
#endif
#ifndef PRODUCERS
#define PRODUCERS 1
#endif
#ifndef ITEMS
#define ITEMS 3			/* per producer */
#endif
#define SIZE 2
#define TOTAL (PRODUCERS * ITEMS)
#define SB_DEPTH 3
#define ARMED 255		/* address of armed; slot i's sequence is address i */
#define CONSUMER PRODUCERS

byte seq[SIZE];
byte tail;
byte armed;
byte bell;
byte waiters;			/* space_waiters */
byte gen;			/* space_gen */
chan sb[PRODUCERS + 1] = [SB_DEPTH] of { byte, byte };

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

/* try_enqueue(): @ok is set when the item went in. */
inline try_enqueue(me, ok)
{
	ok = false;
	do
	:: pos = tail;
	   if
	   :: seq[pos % SIZE] == pos ->
		/* The claim: a locked cmpxchg on tail. */
		atomic {
			empty(sb[me]) ->
			if
			:: tail == pos -> tail++; ok = true
			:: else -> skip
			fi
		};
		if
		:: ok -> break
		:: else -> skip
		fi
	   :: else -> break	/* full, as far as we can see */
	   fi
	od;
	if
	:: ok ->
		sb[me]!(pos % SIZE),(pos + 1);
		/* npu_ring_notify(), with its fence */
		empty(sb[me]);
		if
		:: armed == 1 ->
			atomic { empty(sb[me]) -> won = armed; armed = 0 };
			if
			:: won == 1 -> atomic { empty(sb[me]) -> bell = 1 }
			:: else -> skip
			fi
		:: else -> skip
		fi;
		won = 0
	:: else -> skip
	fi;
	pos = 0
}

proctype producer(byte me)
{
	byte i, pos, won, g;
	bool ok;

	for (i : 1 .. ITEMS) {
		try_enqueue(me, ok);
		if
		:: !ok ->
			/* Announce: a locked increment. */
			atomic { empty(sb[me]) -> waiters++ };
#if PRODUCER_FENCE
			empty(sb[me]);
#endif
			do
			:: g = gen;
			   try_enqueue(me, ok);
			   if
			   :: ok -> break
			   :: else ->
				/* futex_wait(&space_gen, g): sleeps while gen == g. */
				empty(sb[me]);
				gen != g
			   fi
			od;
			atomic { empty(sb[me]) -> waiters-- };
			g = 0
		:: else -> skip
		fi
	}
}

proctype consumer()
{
	byte head, n;

	do
	:: head == TOTAL -> break
	:: else ->
		/* npu_ring_dequeue_burst() */
		n = 0;
		do
		:: seq[head % SIZE] == head + 1 ->
			sb[CONSUMER]!(head % SIZE),(head + SIZE);
			head++;
			n++
		:: else -> break
		od;
		if
		:: n > 0 ->
#if CONSUMER_FENCE
			empty(sb[CONSUMER]);
#endif
			if
			:: waiters > 0 && tail - head <= SIZE / 2 ->
				atomic { empty(sb[CONSUMER]) -> gen++ }
			:: else -> skip
			fi
		:: else ->
			/* npu_ring_arm(), with its fence, then asleep on the doorbell. */
			sb[CONSUMER]!ARMED,1;
			empty(sb[CONSUMER]);
			if
			:: seq[head % SIZE] == head + 1 -> sb[CONSUMER]!ARMED,0
			:: else ->
				empty(sb[CONSUMER]);
				bell > 0;
				bell = 0
			fi
		fi
	od
}

init
{
	byte i;

	atomic {
		for (i : 0 .. SIZE - 1) {
			seq[i] = i
		}
		for (i : 0 .. PRODUCERS) {
			run drain(i)
		}
		for (i : 0 .. PRODUCERS - 1) {
			run producer(i)
		}
		run consumer()
	}
}
