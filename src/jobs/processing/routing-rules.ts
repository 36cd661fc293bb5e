// The routing rules of receive.routing: which series a rule matches (the SCP decides with them what becomes a job)
// and where the results of a job go (the include rule it matched may name its destinations, or "@caller": back to
// the AE that sent it, at the address results.knownAes gives — never the association's).
import { CALLING_AE, type RoutingRule } from '../../../config/formats.js';
import type { Destination } from '../../../config/sections/results.js';

/** What a rule is matched against: from the instance header when receiving, from the job when sending. */
export interface RoutedSeries {
  modality?: string | null;
  seriesDescription?: string | null;
  callingAe?: string | null;
}

export function ruleMatches(rule: RoutingRule, series: RoutedSeries): boolean {
  if (rule.modality !== undefined && rule.modality.trim().toUpperCase() !== (series.modality ?? '').toUpperCase()) return false;
  if (rule.callingAe !== undefined && rule.callingAe.trim() !== (series.callingAe ?? '').trim()) return false;
  if (rule.seriesDescription !== undefined && !new RegExp(rule.seriesDescription, 'i').test(series.seriesDescription ?? '')) return false;
  return true;
}

export interface DestinationConfig {
  include: RoutingRule[];
  destinations: Destination[];
  knownAes: Destination[];
}

/**
 * Where the results of `series` go: the destinations of the first include rule it matches that names any, else
 * every configured destination. Throws when the rule sends them back to a calling AE that results.knownAes lacks.
 */
export function destinationsFor(series: RoutedSeries, config: DestinationConfig): Destination[] {
  const rule = config.include.find((r) => r.destinations !== undefined && ruleMatches(r, series));
  if (!rule) return config.destinations;
  return rule.destinations!.map((name) => {
    if (name === CALLING_AE) {
      const caller = (series.callingAe ?? '').trim();
      const known = config.knownAes.find((d) => d.aeTitle.trim() === caller);
      if (!known) throw new Error(`results go back to the calling AE '${caller}', which results.knownAes does not list (its address is never taken from the association)`);
      return known;
    }
    const destination = config.destinations.find((d) => d.aeTitle.trim() === name.trim());
    if (!destination) throw new Error(`routing rule destination '${name}' is not in results.destinations`);
    return destination;
  });
}
