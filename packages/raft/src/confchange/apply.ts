// Which Changer operation a ConfChangeV2 asks for (etcd's EnterJoint / LeaveJoint rules).

import type { ProgressMap, ProgressTracker, TrackerConfig } from '../tracker/tracker.js';
import { ConfChangeTransition, type ConfChangeV2 } from '../types.js';
import { Changer } from './changer.js';

/**
 * An empty Auto change leaves the joint state; an explicit transition or several changes enter
 * one (left automatically unless Explicit); a single Auto change is a simple change.
 */
export function changeConfig(tracker: ProgressTracker, lastIndex: number, cc: ConfChangeV2): [TrackerConfig, ProgressMap] {
  const changer = new Changer(tracker, lastIndex);
  if (cc.transition === ConfChangeTransition.Auto && cc.changes.length === 0) return changer.leaveJoint();
  if (cc.transition !== ConfChangeTransition.Auto || cc.changes.length > 1) {
    return changer.enterJoint(cc.transition !== ConfChangeTransition.Explicit, cc.changes);
  }
  return changer.simple(cc.changes);
}
