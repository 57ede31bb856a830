/**
 * The statistics view: the agent's `vpncli stats` sections, one table each (a caption, then
 * one row per fact with the name as its row header), so screen readers announce name and value.
 */
import type { TrayView } from '../core/bridge.js';
import type { Translate } from './api.js';

/** See the module comment. */
export function Statistics({ sections, t }: { sections: NonNullable<TrayView['stats']>; t: Translate }) {
  return (
    <section class="statistics" aria-labelledby="statistics-title">
      <h2 id="statistics-title">{t('window.statistics')}</h2>
      {sections.map((section) => (
        <table key={section.title}>
          <caption>{section.title}</caption>
          <tbody>
            {section.entries.map((entry) => (
              <tr key={entry.name}>
                <th scope="row">{entry.name}</th>
                <td>{entry.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}
