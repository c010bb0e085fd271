// The queue statistics table (#queues) and the supervisor's team table (#team), rendered from
// model.queues and model.team; rows are kept per queue id / login id between renders.

import { displayName, element, reasonLabel, setText, since, stateLabel, statistic } from './view-format.js';

/** Reuses or creates one row per key in a tbody, in order, with the given cell texts. */
function syncRows(body, keyName, entries) {
  const existing = new Map();
  for (const row of body.querySelectorAll(':scope > tr')) existing.set(row.dataset[keyName], row);
  entries.forEach(({ key, cells, decorate }, index) => {
    let row = existing.get(key);
    existing.delete(key);
    if (!row) {
      row = element('tr');
      row.dataset[keyName] = key;
      cells.forEach((cell, column) => row.append(element(column === 0 ? 'th' : 'td', cell.className)));
      row.firstChild.scope = 'row';
    }
    cells.forEach((cell, column) => setText(row.children[column], cell.text));
    if (decorate) decorate(row);
    if (body.children[index] !== row) body.insertBefore(row, body.children[index] || null);
  });
  for (const gone of existing.values()) gone.remove();
}

/** Renders model.queues into #queues: name, calls in queue, longest wait and agent counts. */
export function renderQueues(model, now = Date.now()) {
  const body = document.querySelector('#queues tbody');
  const queues = model.queues instanceof Map ? [...model.queues.values()] : [];
  const talking = (stats) => {
    if (stats.agentsTalking !== undefined) return statistic(stats.agentsTalking);
    const parts = ['agentsTalkingInbound', 'agentsTalkingOutbound', 'agentsTalkingInternal']
      .map((name) => Number(stats[name])).filter((n) => Number.isFinite(n) && n >= 0);
    return parts.length ? String(parts.reduce((a, b) => a + b, 0)) : '–';
  };
  syncRows(body, 'queueId', queues.map((queue) => {
    const stats = queue.stats || {};
    const waiting = Number(stats.callsInQueue) > 0 ? since(stats.startTimeOfLongestCallInQueue, now) : '–';
    return {
      key: String(queue.id),
      cells: [
        { text: queue.name || `Queue ${queue.id}`, className: 'queue-name' },
        { text: statistic(stats.callsInQueue), className: 'num calls-in-queue' },
        { text: waiting, className: 'num longest-wait' },
        { text: statistic(stats.agentsReady), className: 'num agents-ready' },
        { text: statistic(stats.agentsNotReady), className: 'num agents-not-ready' },
        { text: talking(stats), className: 'num agents-talking' },
        { text: statistic(stats.agentsLoggedOn), className: 'num agents-logged-on' },
      ],
    };
  }));
  document.getElementById('queues-panel').classList.toggle('empty', queues.length === 0);
}

/** Shows #team only for supervisors and renders the supervised agents with their live states. */
export function renderTeam(model, now = Date.now()) {
  const section = document.getElementById('team');
  const roles = model.user?.roles || [];
  const supervisor = roles.includes('Supervisor');
  section.hidden = !supervisor;
  if (!supervisor) return;
  const teamNames = new Map((model.user.teams || []).map((team) => [String(team.id), team.name]));
  const agents = model.team instanceof Map ? [...model.team.values()] : [];
  agents.sort((a, b) => String(a.loginId).localeCompare(String(b.loginId), undefined, { numeric: true }));
  syncRows(section.querySelector('tbody'), 'agentId', agents.map((agent) => ({
    key: String(agent.loginId),
    cells: [
      { text: `${displayName(agent)} (${agent.loginId})`, className: 'team-agent' },
      { text: stateLabel(agent.state), className: 'agent-state' },
      { text: reasonLabel(agent.reasonCode), className: 'agent-reason' },
      { text: agent.state === 'LOGOUT' ? '–' : since(agent.stateChangeTime, now), className: 'num agent-time' },
      { text: agent.extension || '–', className: 'agent-extension' },
      { text: teamNames.get(String(agent.teamId)) || agent.teamId || '', className: 'agent-team' },
    ],
    decorate: (row) => {
      const cell = row.querySelector('.agent-state');
      if (cell.dataset.state !== (agent.state || '')) cell.dataset.state = agent.state || '';
    },
  })));
}
